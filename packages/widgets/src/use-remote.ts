import { useCallback, useEffect, useRef, useState } from 'react';
import { type CallFailure, describeFailure } from './client';

/**
 * One call's answer as a widget renders it: loading, the value, or the failure. `key` names
 * everything the call depends on; while a new key loads, the last value stays on screen (a
 * re-quote does not blank the checkout) and `isLoading` is already true in the render that
 * changed the key, so nothing acts on a stale answer. An answer for a key no longer current is dropped.
 */
export interface Remote<T> {
  value: T | undefined;
  failure: CallFailure | null;
  isLoading: boolean;
  reload: () => void;
}

interface Settled<T> {
  key: string | null;
  value: T | undefined;
  failure: CallFailure | null;
}

export interface RemoteOptions<T> {
  isEnabled?: boolean;
  onFailure?: (failure: CallFailure) => void;
  /** An answer already here when the widget mounts (`earlyAnswer`): the first render shows it and the first load is not made. */
  initial?: () => T | undefined;
}

export function useRemote<T>(load: () => Promise<T>, key: string, options: RemoteOptions<T> = {}): Remote<T> {
  const isEnabled = options.isEnabled ?? true;
  const [generation, setGeneration] = useState(0);
  const requestKey = `${generation}\u0000${key}`;
  const [settled, setSettled] = useState<Settled<T>>(() => {
    const value = isEnabled ? options.initial?.() : undefined;
    return { key: value === undefined ? null : requestKey, value, failure: null };
  });
  /** The key the initial answer stands for: its load is not made (once). */
  const answeredAtMount = useRef(settled.key);
  const latest = useRef({ load, onFailure: options.onFailure });
  latest.current = { load, onFailure: options.onFailure };

  useEffect(() => {
    if (!isEnabled) return;
    if (answeredAtMount.current !== null) {
      const isAnswered = answeredAtMount.current === requestKey;
      answeredAtMount.current = null;
      if (isAnswered) return;
    }
    let isCurrent = true;
    latest.current.load().then(
      (value) => {
        if (isCurrent) setSettled({ key: requestKey, value, failure: null });
      },
      (error: unknown) => {
        if (!isCurrent) return;
        const failure = describeFailure(error);
        setSettled((previous) => ({ key: requestKey, value: previous.value, failure }));
        latest.current.onFailure?.(failure);
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [requestKey, isEnabled]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { value: settled.value, failure: settled.failure, isLoading: isEnabled && settled.key !== requestKey, reload };
}

const identities = new WeakMap<object, number>();
let identityCount = 0;

/** A stable number per object, so a remote's key can name the client it calls. */
export function identityOf(object: object): number {
  let identity = identities.get(object);
  if (identity === undefined) {
    identity = ++identityCount;
    identities.set(object, identity);
  }
  return identity;
}
