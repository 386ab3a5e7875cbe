/** Every stand-in, in build order: a recipe comes after those it builds FROM. */
import type { Recipe } from '../recipe.ts';
import { alpine } from './alpine.ts';
import { binfmt } from './binfmt.ts';
import { buildkit } from './buildkit.ts';
import { golangAlpine } from './golang-alpine.ts';
import { registry } from './registry.ts';

export const RECIPES: readonly Recipe[] = [alpine, golangAlpine, registry, buildkit, binfmt];
