import { type KeyboardEvent, type ReactNode, useEffect, useId, useRef } from 'react';

/**
 * A modal confirm step (WAI-ARIA dialog pattern): labelled by its title, described by its body,
 * focus moves in on open, Tab stays inside, Escape cancels, and focus returns to what opened it.
 * It works inside a shadow root, where `document.activeElement` is only the host.
 */
export interface ConfirmDialogProps {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  cancelLabel: string;
  isBusy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** Where focus goes back when the dialog closes (the button that opened it). */
  returnFocusTo?: HTMLElement | null;
}

const FOCUSABLE = 'button:not([disabled]), a[href], input:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function ConfirmDialog(props: ConfirmDialogProps) {
  const titleId = useId();
  const bodyId = useId();
  const dialog = useRef<HTMLDivElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const { returnFocusTo } = props;

  useEffect(() => {
    confirm.current?.focus();
    return () => returnFocusTo?.focus();
  }, [returnFocusTo]);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (event.key === 'Escape' && !props.isBusy) {
      event.preventDefault();
      props.onCancel();
      return;
    }
    if (event.key !== 'Tab' || !dialog.current) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = (dialog.current.getRootNode() as Document | ShadowRoot).activeElement;
    if (!first || !last) {
      event.preventDefault();
    } else if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }

  return (
    <div className="backdrop">
      <div ref={dialog} role="dialog" aria-modal="true" aria-labelledby={titleId} aria-describedby={bodyId} onKeyDown={onKeyDown}>
        <h3 id={titleId}>{props.title}</h3>
        <div id={bodyId}>{props.children}</div>
        <div className="row">
          <button ref={confirm} type="button" disabled={props.isBusy} onClick={props.onConfirm}>
            {props.confirmLabel}
          </button>
          <button type="button" className="secondary" disabled={props.isBusy} onClick={props.onCancel}>
            {props.cancelLabel}
          </button>
        </div>
      </div>
    </div>
  );
}
