/**
 * The console's building blocks: `html` (htm bound to preact: JSX-like templates without a
 * build step), polling, the confirmation dialog every mutation goes through, error banners,
 * and value formats.
 */

import { h, type ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { ApiError } from "./api.ts";

export const html = htm.bind(h);

/** Calls `load` now and every `intervalMs` while the page is visible; `reload` runs it at once. */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, dependencies: readonly unknown[] = []): { data: T | undefined; error: string | undefined; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    loadRef.current().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(undefined);
      },
      (failure: unknown) => {
        if (mine === generation.current) setError(describe(failure));
      },
    );
  }, []);
  useEffect(() => {
    setData(undefined);
    reload();
    if (intervalMs <= 0) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, intervalMs);
    return () => clearInterval(timer);
  }, dependencies);
  return { data, error, reload };
}

export function describe(failure: unknown): string {
  if (failure instanceof ApiError) return failure.code === undefined ? failure.message : `${failure.message} (${failure.code})`;
  return failure instanceof Error ? failure.message : String(failure);
}

export function ErrorBanner(props: { error: string | undefined }) {
  return props.error === undefined ? null : html`<p class="error" role="alert">${props.error}</p>`;
}

export interface PendingAction {
  /** What the dialog asks, e.g. `Delete topic "orders"?` */
  readonly title: string;
  readonly detail?: ComponentChildren;
  readonly confirmLabel: string;
  readonly danger?: boolean;
  readonly run: () => Promise<unknown>;
}

/**
 * Every mutation passes here: the user confirms, the call runs, the dialog shows its error or
 * closes and `done` runs (pages reload their data there).
 */
export function useConfirm(done?: (result: unknown) => void) {
  const [pending, setPending] = useState<PendingAction | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const ask = (action: PendingAction) => {
    setError(undefined);
    setPending(action);
  };
  const confirm = async () => {
    if (pending === undefined) return;
    setBusy(true);
    try {
      const result = await pending.run();
      setPending(undefined);
      done?.(result);
    } catch (failure) {
      setError(describe(failure));
    } finally {
      setBusy(false);
    }
  };
  const dialog =
    pending === undefined
      ? null
      : html`<div class="backdrop">
          <div class="dialog" role="dialog" aria-modal="true" aria-label=${pending.title}>
            <h3>${pending.title}</h3>
            ${pending.detail === undefined ? null : html`<div class="dialog-detail">${pending.detail}</div>`}
            <${ErrorBanner} error=${error} />
            <div class="dialog-buttons">
              <button type="button" onClick=${() => setPending(undefined)} disabled=${busy}>Cancel</button>
              <button type="button" class=${pending.danger === true ? "danger" : "primary"} onClick=${confirm} disabled=${busy}>${pending.confirmLabel}</button>
            </div>
          </div>
        </div>`;
  return { ask, dialog };
}

export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return "—";
  const date = new Date(ms);
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

/** Permission bits as RocketMQ writes them: R (4), W (2), X inherit (1). */
export function formatPerm(perm: number): string {
  return `${perm & 4 ? "R" : "-"}${perm & 2 ? "W" : "-"}${perm & 1 ? "X" : "-"} (${perm})`;
}

/** A datetime-local input's value as ms since the epoch; undefined when empty. */
export function localTimeMs(value: string): number | undefined {
  if (value.trim() === "") return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** The value a datetime-local input shows for `ms`. */
export function localTimeInput(ms: number): string {
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 19);
}

export function inputValue(event: Event): string {
  return (event.currentTarget as HTMLInputElement).value;
}
