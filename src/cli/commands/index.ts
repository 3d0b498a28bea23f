/** Every subcommand, in the order `--help` lists them. Add a command by adding its module here. */
import type { CommandSpec } from '../common.js';
import { keygenCommand } from './keygen.js';
import { sealCommand } from './seal.js';
import { verifyCommand } from './verify.js';
import { diffCommand } from './diff.js';
import { listCommand } from './list.js';
import { showCommand } from './show.js';
import { fsckCommand } from './fsck.js';
import { logCommand } from './log.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { restoreCommand } from './restore.js';

export const COMMANDS: CommandSpec[] = [keygenCommand, sealCommand, verifyCommand, diffCommand, listCommand, showCommand];
COMMANDS.push(fsckCommand, logCommand);
COMMANDS.push(exportCommand, importCommand, restoreCommand);
