// Temporary: the body of an exported function not written yet. Removed once every module is.
import { PitrError } from '../errors.ts';

export class InternalStub extends PitrError {
  constructor(name: string) {
    super(`${name} is not implemented yet`);
  }
}
