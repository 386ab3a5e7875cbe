/**
 * Every stand-in, in build order: a recipe comes after those it builds FROM. When several wait for
 * apt, it serves them in this order too: the base image first, then BuildKit, the long pole (its
 * Go sources are found in rounds of downloads, then compiled for six platforms).
 */
import type { Recipe } from '../recipe.ts';
import { alpine } from './alpine.ts';
import { binfmt } from './binfmt.ts';
import { buildkit } from './buildkit.ts';
import { golangAlpine } from './golang-alpine.ts';
import { registry } from './registry.ts';

export const RECIPES: readonly Recipe[] = [alpine, buildkit, golangAlpine, registry, binfmt];
