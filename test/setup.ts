/**
 * Preloaded before the suite (bunfig.toml [test] preload): hooks registered here are global, so
 * the cleanups that helper modules register run after each test of every file.
 */

import { afterEach } from "bun:test";
import { runAfterEachHooks } from "./helpers/cleanup-hooks.ts";

afterEach(runAfterEachHooks);
