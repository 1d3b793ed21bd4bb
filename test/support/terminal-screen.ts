// What a terminal shows after a program's output: a screen model that knows the few controls
// mongo-pitr writes (log.ts): "\r" back to the row's start, "\n" down a row, ESC[K erase to the
// end of the row, ESC[nA cursor up n rows (ECMA-48 EL and CUU). Everything else is text. And the
// CLI run on a pseudo-terminal (util-linux `script`), as terminal.test.ts runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { BIN } from './cli.ts';

export interface Screen {
  /** Every row written, top first, as left on screen (empty rows below the cursor dropped). */
  readonly rows: string[];
  /** The row the cursor is on. */
  readonly cursorRow: number;
}

/** A screen fed piece by piece, so a test can look at it between the program's redraws. */
export class Terminal {
  readonly #rows: string[] = [''];
  #row = 0;
  #col = 0;

  write(output: string): void {
    for (let at = 0; at < output.length; ) {
      const control = /^\x1b\[(\d*)([A-Za-z])/.exec(output.slice(at, at + 16));
      if (control) {
        const [whole, count, letter] = control as unknown as [string, string, string];
        if (letter === 'K') this.#rows[this.#row] = (this.#rows[this.#row] ?? '').slice(0, this.#col);
        else if (letter === 'A') this.#row = Math.max(0, this.#row - Number(count || '1'));
        else throw new Error(`a control the screen model does not know: ESC[${count}${letter}`);
        at += whole.length;
        continue;
      }
      const char = output[at] ?? '';
      at++;
      if (char === '\r') this.#col = 0;
      else if (char === '\n') {
        this.#row++;
        this.#col = 0;
        if (this.#rows[this.#row] === undefined) this.#rows[this.#row] = '';
      } else this.#put(char);
    }
  }

  #put(text: string): void {
    const line = this.#rows[this.#row] ?? '';
    this.#rows[this.#row] = line.slice(0, this.#col).padEnd(this.#col, ' ') + text + line.slice(this.#col + text.length);
    this.#col += text.length;
  }

  get screen(): Screen {
    const rows = [...this.#rows];
    while (rows.length > 1 && rows.at(-1) === '' && rows.length - 1 > this.#row) rows.pop();
    return { rows, cursorRow: this.#row };
  }
}

export function screenOf(output: string): Screen {
  const terminal = new Terminal();
  terminal.write(output);
  return terminal.screen;
}

export const NO_SCRIPT = spawnSync('script', ['--version']).status === 0 ? false : 'util-linux script is not installed';

/** Runs the CLI on a pseudo-terminal; returns the raw bytes (with "\r\n" for "\n") and the exit code. */
export function onTerminal(args: readonly string[], env: NodeJS.ProcessEnv = {}): { raw: string; code: number } {
  const quoted = [process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  try {
    const raw = execFileSync('script', ['-qefc', `stty cols 160 rows 40; exec ${quoted}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...env, COLUMNS: '160' }, timeout: 180_000 });
    return { raw, code: 0 };
  } catch (error) {
    const failed = error as { stdout?: string; status?: number };
    return { raw: failed.stdout ?? '', code: failed.status ?? 1 };
  }
}
