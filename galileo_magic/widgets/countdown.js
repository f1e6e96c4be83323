// The countdown to a Galileo token's expiry. It ticks in the browser: the kernel
// is asked for its clock once per render, never once per tick.

function pad(n) {
  return String(n).padStart(2, "0");
}

export function formatRemaining(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  // serverOffset: server clock minus browser clock, in ms. Until the sync reply
  // comes, assume the browser's clock is the kernel's.
  let serverOffset = model.get("clock_skew_ms");
  let sentAt = null;
  let pending = "";

  const root = element("div", "galileo-countdown");
  root.setAttribute("role", "status");
  const title = element("div", "galileo-countdown-title");
  const remaining = element("span", "galileo-countdown-remaining");
  remaining.setAttribute("aria-live", "off");
  const expiry = element("div", "galileo-countdown-expiry");
  const refreshNote = element("div", "galileo-countdown-refresh");
  const message = element("div", "galileo-countdown-message");
  message.setAttribute("aria-live", "polite");
  const buttons = element("div", "galileo-countdown-buttons");
  const refresh = element("button", "galileo-countdown-refresh-button", "Refresh");
  const signOut = element("button", "galileo-countdown-signout-button", "Sign out");
  refresh.type = signOut.type = "button";
  buttons.append(refresh, signOut);
  root.append(title, expiry, refreshNote, message, buttons);
  el.append(root);

  refresh.addEventListener("click", () => {
    pending = "Refreshing…";
    message.textContent = pending;
    model.send({ type: "refresh" });
  });
  signOut.addEventListener("click", () => model.send({ type: "logout" }));

  function onMessage(msg) {
    if (msg && msg.type === "sync" && msg.sent === sentAt) {
      const receivedAt = Date.now();
      serverOffset = msg.server_now_ms - (sentAt + receivedAt) / 2;
      tick();
    }
  }
  model.on("msg:custom", onMessage);

  function tick() {
    const state = model.get("state");
    const expiresAt = model.get("expires_at_ms");
    const left = expiresAt - (Date.now() + serverOffset);
    const margin = model.get("refresh_margin") * 1000;
    const org = model.get("organization");
    const variable = model.get("variable");
    title.textContent = `Galileo token in ${variable} · organization ${org}`;
    const local = new Date(expiresAt - serverOffset).toLocaleString();
    buttons.hidden = state !== "active";
    message.textContent = model.get("message") || pending;
    root.classList.toggle("galileo-expired", state === "active" && left <= 0);
    root.classList.toggle(
      "galileo-warning",
      state === "active" && left > 0 && left <= margin,
    );
    root.classList.toggle("galileo-inactive", state !== "active");
    if (state === "signed-out") {
      expiry.textContent = "Signed out: the token was removed from the kernel.";
      refreshNote.textContent = "";
      return;
    }
    if (state === "replaced") {
      expiry.textContent = "Replaced by a newer token (see the latest cell).";
      refreshNote.textContent = "";
      return;
    }
    if (left <= 0) {
      expiry.textContent = `Expired at ${local} · `;
      remaining.textContent = "expired";
      expiry.append(remaining);
    } else {
      expiry.textContent = `Expires ${local} · expires in `;
      remaining.textContent = formatRemaining(left);
      expiry.append(remaining);
    }
    // The kernel's timer says when it refreshes; 0 means it will not.
    const refreshAt = model.get("refresh_at_ms");
    const untilRefresh = refreshAt - (Date.now() + serverOffset);
    refreshNote.textContent =
      refreshAt > 0 && left > 0 && untilRefresh > 0
        ? `refreshes in ${formatRemaining(untilRefresh)}`
        : "";
  }

  function sync() {
    sentAt = Date.now();
    model.send({ type: "sync", sent: sentAt });
  }

  function changed() {
    pending = "";
    tick();
  }

  model.on("change", changed);
  tick();
  sync();
  // Align ticks to the second boundary of the server clock.
  let timer = null;
  function schedule() {
    const now = Date.now() + serverOffset;
    timer = setTimeout(() => {
      tick();
      schedule();
    }, 1000 - (now % 1000) + 5);
  }
  schedule();

  return () => {
    clearTimeout(timer);
    model.off("msg:custom", onMessage);
    model.off("change", changed);
  };
}

export default { render };
