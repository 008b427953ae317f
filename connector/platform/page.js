"use strict";
// Filter and sort the report's tables; nothing is fetched. `#q=TEXT` in the address pre-fills
// every filter box. data-ready="1" on <html> says the script ran to its end.
(() => {
  const root = document.documentElement;
  window.addEventListener("error", (event) => root.setAttribute("data-error", String(event.message)));

  const filter = (input) => {
    const table = document.getElementById(input.dataset.filter);
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    const rows = Array.from(table.tBodies[0].rows);
    let shown = 0;
    for (const row of rows) {
      const text = row.textContent.toLowerCase();
      row.hidden = !terms.every((term) => text.includes(term));
      if (!row.hidden) shown += 1;
    }
    const count = document.getElementById(`${input.dataset.filter}-count`);
    if (count) count.textContent = `${shown} of ${rows.length} rows`;
  };

  const key = (row, index) => {
    const cell = row.cells[index];
    return cell ? (cell.dataset.sort ?? cell.textContent.trim()) : "";
  };
  const sort = (th) => {
    const table = th.closest("table");
    const index = Array.from(th.parentNode.cells).indexOf(th);
    const descending = th.getAttribute("aria-sort") === "ascending";
    for (const other of th.parentNode.cells) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const numeric = rows.every((row) => key(row, index) === "" || !Number.isNaN(Number(key(row, index))));
    rows.sort((a, b) => {
      const x = key(a, index), y = key(b, index);
      const order = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true });
      return descending ? -order : order;
    });
    body.append(...rows);
  };

  const inputs = document.querySelectorAll("input[data-filter]");
  for (const input of inputs) input.addEventListener("input", () => filter(input));
  for (const th of document.querySelectorAll("thead th")) th.addEventListener("click", () => sort(th));
  window.addEventListener("beforeprint", () => {
    for (const details of document.querySelectorAll("details")) details.open = true;
  });
  const query = /[#&]q=([^&]*)/.exec(window.location.hash);
  if (query) {
    for (const input of inputs) {
      input.value = decodeURIComponent(query[1].replace(/\+/g, " "));
      filter(input);
    }
  }
  root.setAttribute("data-ready", "1");
})();
