import { describe, expect, it } from 'vitest';
import { COMMANDS, commandName } from '../../src/cli/commands/index.js';

describe('the command registry', () => {
  it('names and describes each command exactly as its module does (the module is loaded only when it runs)', async () => {
    for (const entry of COMMANDS) {
      const spec = await entry.load();
      expect({ command: spec.command, describe: spec.describe }).toEqual({ command: entry.command, describe: entry.describe });
    }
  });

  it('has one entry per command word', () => {
    const names = COMMANDS.map(commandName);
    expect(new Set(names).size).toBe(names.length);
  });
});
