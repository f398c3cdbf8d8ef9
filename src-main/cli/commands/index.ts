// Every CLI command. Rooms add theirs here (models, history, generate, inspect).
import type { Command } from '../command';
import { infoCommand } from './info';
import { serveCommand } from './serve';

export const COMMANDS: Command[] = [serveCommand, infoCommand];
