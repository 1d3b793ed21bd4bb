// What a terminal shows after a program's output: a screen model that knows the few controls
// mongo-pitr writes (log.ts): "\r" back to the row's start, "\n" down a row, ESC[K erase to the
// end of the row, ESC[nA cursor up n rows (ECMA-48 EL and CUU). Everything else is text.
export interface Screen {
  /** Every row ever written, top first, as left on screen (trailing empty rows dropped). */
  readonly rows: string[];
  /** The row the cursor ends on. */
  readonly cursorRow: number;
}

export function screenOf(output: string): Screen {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (text: string): void => {
    const line = rows[row] ?? '';
    rows[row] = line.slice(0, col).padEnd(col, ' ') + text + line.slice(col + text.length);
    col += text.length;
  };
  for (let at = 0; at < output.length; ) {
    const control = /^\x1b\[(\d*)([A-Za-z])/.exec(output.slice(at, at + 16));
    if (control) {
      const [whole, count, letter] = control as unknown as [string, string, string];
      if (letter === 'K') rows[row] = (rows[row] ?? '').slice(0, col);
      else if (letter === 'A') row = Math.max(0, row - Number(count || '1'));
      else throw new Error(`a control the screen model does not know: ESC[${count}${letter}`);
      at += whole.length;
      continue;
    }
    const char = output[at] ?? '';
    at++;
    if (char === '\r') col = 0;
    else if (char === '\n') {
      row++;
      col = 0;
      if (rows[row] === undefined) rows[row] = '';
    } else put(char);
  }
  while (rows.length > 1 && rows.at(-1) === '' && rows.length - 1 > row) rows.pop();
  return { rows, cursorRow: row };
}
