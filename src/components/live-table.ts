// A table that a live run updates: made once for the page's life, its rows changed
// in place. Rebuilding an Inputs.table at every update of a run (as the A/B pages
// did) laid out a new table, re-created every cell and formatted each number again
// with a fresh Intl formatter: on /objectives that was most of an 865 ms task. Here a
// row is made once and afterwards only the text of a cell whose value changed is
// written, so an update costs a few text nodes. Call update() inside a frame the page
// already coalesces (components/live-chart.ts nextFrame).
//
// The root's data-rows-built counts the <tr> elements ever made (one per row the
// table has had), so a test can tell in-place updates from rebuilds.

export interface LiveColumn<R> {
  /** The row's field this column shows. */
  key: keyof R & string;
  header: string;
  /** The cell's text (default: String of the value, "–" for a missing or non-finite number). */
  format?: (value: R[keyof R], row: R) => string;
  /** Right-aligned, tabular figures (default: true when the first value is a number). */
  numeric?: boolean;
}

export interface LiveTableElement<R> extends HTMLElement {
  /** Shows `rows` (the table hides itself while there are none). */
  update(rows: readonly R[]): void;
}

/** One formatter for the whole lab: `x.toLocaleString("en-US")` makes a new Intl.NumberFormat at each call. */
const integers = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
export const formatInteger = (x: number): string => (Number.isFinite(x) ? integers.format(x) : "–");

const plain = (value: unknown): string => (typeof value === "number" ? (Number.isFinite(value) ? String(value) : "–") : value == null ? "–" : String(value));

export function LiveTable<R>(columns: readonly LiveColumn<R>[], options: { label: string }): LiveTableElement<R> {
  const root = document.createElement("div") as unknown as LiveTableElement<R>;
  root.className = "stlm-table-scroll stlm-live-table";
  root.hidden = true;
  root.dataset.rowsBuilt = "0";
  const table = document.createElement("table");
  table.setAttribute("aria-label", options.label);
  const head = table.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = c.header;
    th.dataset.column = c.key;
    head.append(th);
  }
  const body = table.createTBody();
  root.append(table);
  // The text last written to each cell, so an unchanged value writes nothing.
  const written: string[][] = [];
  let numeric: boolean[] | null = null;

  root.update = (rows) => {
    root.hidden = rows.length === 0;
    if (rows.length && !numeric) numeric = columns.map((c) => c.numeric ?? typeof rows[0][c.key] === "number");
    while (body.rows.length > rows.length) {
      body.deleteRow(-1);
      written.pop();
    }
    while (body.rows.length < rows.length) {
      const tr = body.insertRow();
      columns.forEach((c, i) => {
        const td = tr.insertCell();
        td.dataset.column = c.key;
        if (numeric![i]) td.className = "stlm-num";
      });
      written.push(columns.map(() => ""));
      root.dataset.rowsBuilt = String(Number(root.dataset.rowsBuilt) + 1);
    }
    rows.forEach((row, r) => {
      const cells = body.rows[r].cells;
      columns.forEach((c, i) => {
        const value = row[c.key];
        const text = c.format ? c.format(value, row) : plain(value);
        if (written[r][i] !== text) {
          written[r][i] = text;
          cells[i].textContent = text;
        }
      });
    });
  };
  return root;
}
