"""Write notebooks/quickstart.ipynb from the cells below (kept in one place)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# galileo-magic quickstart\n\n"
        "Get a short-lived Galileo access token into this kernel, then use it.\n"
        "Credentials come from the environment (`GALILEO_CONSOLE_URL`, "
        "`GALILEO_API_KEY`), a `.env` file, or the login form; nothing secret is "
        "typed here. `python scripts/demo.py` runs this notebook against the "
        "local sandbox server."
    ),
    new_code_cell("%load_ext galileo_magic"),
    new_markdown_cell(
        "Fetch a token for an organization. The countdown below ticks in the "
        "browser; without a widget front end it is one line of text."
    ),
    new_code_cell("%galileo_token --org-slug acme-research"),
    new_markdown_cell(
        "`galileo_token` is a `GalileoToken`: its repr is masked, `headers` carries it."
    ),
    new_code_cell("galileo_token"),
    new_code_cell(
        "import requests\n\n"
        "response = requests.get(\n"
        '    f"{galileo_token.api_url}/current_user",\n'
        "    headers=galileo_token.headers,\n"
        "    timeout=10,\n"
        ")\n"
        "response.raise_for_status()\n"
        "user = response.json()\n"
        'print("signed in as", user["email"], "in", user["organization_name"])'
    ),
    new_markdown_cell("How long is left, on the server's clock:"),
    new_code_cell("%galileo_token --status"),
    new_code_cell(
        'print(f"organization={galileo_token.organization} "\n'
        '      f"expires_at={galileo_token.expires_at.isoformat()}")'
    ),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.metadata["language_info"] = {"name": "python"}
    path = Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"
    path.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, path)
    print(path)


if __name__ == "__main__":
    main()
