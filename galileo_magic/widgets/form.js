// The Galileo login form. Secrets never enter the widget model: each one is
// sent to the kernel once, in a custom message, and its input is cleared at once.

const METHODS = [
  ["api-key", "API key"],
  ["oauth2", "Email and password"],
  ["basic", "HTTP Basic"],
];
const HELD = {
  api_key: "An API key is held in the kernel; type here to replace it.",
  password: "A password is held in the kernel; type here to replace it.",
};
const URL_WORDS = { console_url: "console URL", api_url: "API URL" };
let views = 0;

// Whether a URL's authority (before any path) holds user:password@; such a
// URL would be saved with the widget state, so it is never synced.
function hasUserInfo(url) {
  const at = url.indexOf("//");
  const afterScheme = at < 0 ? url : url.slice(at + 2);
  return afterScheme.split(/[/?#]/)[0].includes("@");
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function field(id, labelText, input, className) {
  const row = element("div", `galileo-login-row ${className}`);
  const label = element("label", "galileo-login-label", labelText);
  label.htmlFor = id;
  input.id = id;
  const note = element("div", "galileo-login-note");
  note.id = `${id}-note`;
  input.setAttribute("aria-describedby", note.id);
  row.append(label, input, note);
  return { row, input, note };
}

function textInput(type, className, autocomplete) {
  const input = element("input", className);
  input.type = type;
  input.autocomplete = autocomplete;
  input.spellcheck = false;
  return input;
}

function render({ model, el }) {
  const uid = `galileo-login-${++views}-${Math.random().toString(36).slice(2, 8)}`;
  const form = element("form", "galileo-login");
  form.setAttribute("aria-label", "Galileo login");
  form.noValidate = true;
  const title = element("div", "galileo-login-title", "Galileo login");

  const consoleUrl = field(
    `${uid}-console`,
    "Console URL",
    textInput("url", "galileo-login-console", "url"),
    "galileo-login-console-row",
  );
  const methods = element("fieldset", "galileo-login-method");
  methods.append(element("legend", "galileo-login-label", "Sign in with"));
  const radios = {};
  for (const [value, text] of METHODS) {
    const radio = textInput("radio", "galileo-login-method-input", "off");
    radio.name = `${uid}-method`;
    radio.value = value;
    radio.id = `${uid}-method-${value}`;
    const label = element("label", "galileo-login-method-label", text);
    label.htmlFor = radio.id;
    methods.append(radio, label);
    radios[value] = radio;
  }
  const apiKey = field(
    `${uid}-api-key`,
    "Galileo API key",
    textInput("password", "galileo-login-api-key", "off"),
    "galileo-login-api-key-row",
  );
  const username = field(
    `${uid}-username`,
    "Email or user name",
    textInput("text", "galileo-login-username", "username"),
    "galileo-login-username-row",
  );
  const password = field(
    `${uid}-password`,
    "Password",
    textInput("password", "galileo-login-password", "current-password"),
    "galileo-login-password-row",
  );
  const orgSelect = field(
    `${uid}-org-select`,
    "Organization",
    element("select", "galileo-login-org-select"),
    "galileo-login-org-select-row",
  );
  const orgText = field(
    `${uid}-org-text`,
    "Organization id or slug (optional)",
    textInput("text", "galileo-login-org-text", "off"),
    "galileo-login-org-text-row",
  );
  const advanced = element("details", "galileo-login-advanced");
  advanced.append(element("summary", "", "Advanced"));
  const apiUrl = field(
    `${uid}-api-url`,
    "API URL (optional; derived from the console URL)",
    textInput("url", "galileo-login-api-url", "url"),
    "galileo-login-api-url-row",
  );
  advanced.append(apiUrl.row);
  const submit = element("button", "galileo-login-submit", "Get token");
  submit.type = "submit";
  const status = element("div", "galileo-login-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const error = element("div", "galileo-login-error");
  error.setAttribute("role", "alert");
  form.append(
    title,
    consoleUrl.row,
    methods,
    apiKey.row,
    username.row,
    password.row,
    orgSelect.row,
    orgText.row,
    advanced,
    submit,
    status,
    error,
  );
  el.append(form);

  const secretInputs = { api_key: apiKey.input, password: password.input };
  const plain = {
    console_url: consoleUrl.input,
    api_url: apiUrl.input,
    username: username.input,
  };
  const urlNotes = { console_url: consoleUrl.note, api_url: apiUrl.note };

  // Marks each URL holding user:password@ and says why; true if any does.
  function refuseUserInfo() {
    let refused = false;
    for (const [name, note] of Object.entries(urlNotes)) {
      const bad = hasUserInfo(plain[name].value);
      plain[name].setAttribute("aria-invalid", bad ? "true" : "false");
      note.textContent = bad
        ? `The ${URL_WORDS[name]} must not hold a user name or password (…@host); ` +
          "type it without them and sign in with the fields below."
        : "";
      refused ||= bad;
    }
    return refused;
  }

  function method() {
    const checked = Object.values(radios).find((radio) => radio.checked);
    return checked ? checked.value : model.get("auth");
  }

  function organization() {
    return model.get("organizations_state") === "listed"
      ? orgSelect.input.value
      : orgText.input.value.trim();
  }

  // What the kernel needs, plus each typed secret, whose input is then emptied.
  function snapshot() {
    const content = { auth: method(), organization: organization() };
    for (const [name, input] of Object.entries(plain)) content[name] = input.value;
    for (const [name, input] of Object.entries(secretInputs)) {
      if (input.value) content[name] = input.value;
      input.value = "";
    }
    return content;
  }

  function send(type) {
    // Nothing leaves the page while a URL holds a password: not the URL, and
    // not the secrets either, which the kernel would use with the old URL.
    if (refuseUserInfo()) return false;
    const content = snapshot();
    // Keep the model in step first, so a redraw never brings back old values.
    for (const name of ["auth", "organization", ...Object.keys(plain)]) {
      model.set(name, content[name]);
    }
    model.save_changes();
    model.send({ type, ...content });
    return true;
  }

  function fillOrganizations() {
    const rows = model.get("organizations");
    const chosen = model.get("organization");
    const select = orgSelect.input;
    select.replaceChildren(element("option", "", "Default organization"));
    select.firstChild.value = "";
    for (const row of rows) {
      const option = element("option", "", `${row.name} (${row.slug})`);
      option.value = row.id;
      option.selected = row.id === chosen || row.slug === chosen;
      select.append(option);
    }
  }

  function update() {
    const auth = model.get("auth");
    if (radios[auth] && !radios[auth].checked) radios[auth].checked = true;
    const shown = method();
    apiKey.row.hidden = shown !== "api-key";
    username.row.hidden = password.row.hidden = shown === "api-key";
    for (const [name, input] of Object.entries(plain)) {
      if (document.activeElement !== input) input.value = model.get(name);
    }
    refuseUserInfo();
    consoleUrl.input.placeholder = model.get("console_placeholder");
    const held = model.get("held");
    for (const [name, input] of Object.entries(secretInputs)) {
      const note = name === "api_key" ? apiKey.note : password.note;
      note.textContent = held.includes(name) ? HELD[name] : "";
      input.placeholder = held.includes(name) ? "•••••• (held in the kernel)" : "";
    }
    const listed = model.get("organizations_state") === "listed";
    orgSelect.row.hidden = !listed;
    orgText.row.hidden = listed;
    if (listed) fillOrganizations();
    else if (document.activeElement !== orgText.input) {
      orgText.input.value = model.get("organization");
    }
    orgText.note.textContent = model.get("organizations_note");
    const state = model.get("status");
    const working = state === "working";
    submit.disabled = working;
    form.setAttribute("aria-busy", working ? "true" : "false");
    form.classList.toggle("galileo-working", working);
    status.textContent = working ? model.get("message") : "";
    error.textContent = state === "error" ? model.get("message") : "";
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (model.get("status") === "working") return;
    if (!send("submit")) return;
    submit.disabled = true;
    status.textContent = "Getting a token…";
    error.textContent = "";
  });
  for (const input of [...Object.values(secretInputs), ...Object.values(plain)]) {
    input.addEventListener("change", () => send("credentials"));
  }
  // Notebook front ends swallow the browser's own Enter-submits-the-form.
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing) return;
    if (!(event.target instanceof HTMLInputElement)) return;
    event.preventDefault();
    form.requestSubmit();
  });
  for (const radio of Object.values(radios)) {
    radio.addEventListener("change", () => send("credentials"));
  }
  orgSelect.input.addEventListener("change", () => {
    model.set("organization", orgSelect.input.value);
    model.save_changes();
  });
  orgText.input.addEventListener("change", () => {
    model.set("organization", orgText.input.value.trim());
    model.save_changes();
  });

  model.on("change", update);
  update();
  return () => model.off("change", update);
}

export default { render };
