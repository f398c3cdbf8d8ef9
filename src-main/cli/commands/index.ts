// Every CLI command. Rooms add theirs here (models, history, generate, inspect).
import type { Command } from '../command';
import { historyImportCommand, historyListCommand } from './history';
import { infoCommand } from './info';
import { MODELS_COMMANDS } from './models';
import { inferenceCommands } from './inspect';
import { LORAS_COMMANDS } from './loras';
import { serveCommand } from './serve';
import { UPSCALE_COMMANDS } from './upscale';

export const COMMANDS: Command[] = [serveCommand, infoCommand, historyListCommand, historyImportCommand, ...MODELS_COMMANDS, ...LORAS_COMMANDS, ...UPSCALE_COMMANDS, ...inferenceCommands];
