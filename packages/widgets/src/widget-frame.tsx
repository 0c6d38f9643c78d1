import { type ReactNode, useId } from 'react';
import type { CallFailure } from './client';
import type { Translate } from './i18n';
import { widgetStyles } from './styles';

/**
 * The box every widget renders in: its stylesheet, a labelled region, and the loading and failure
 * states they share (SPEC §6: "loading, empty and error states").
 */
export function WidgetFrame(props: { kind: string; title: string; isBusy?: boolean; children: ReactNode; headingLevel?: 2 | 3; className?: string }) {
  const Heading = props.headingLevel === 3 ? 'h3' : 'h2';
  const headingId = useId();
  return (
    <section className={`jifen jifen-${props.kind}${props.className ? ` ${props.className}` : ''}`} aria-labelledby={headingId} aria-busy={props.isBusy ?? false}>
      <style>{widgetStyles}</style>
      <Heading id={headingId}>{props.title}</Heading>
      {props.children}
    </section>
  );
}

export function Loading(props: { t: Translate }) {
  return <p role="status">{props.t('loading')}</p>;
}

/** A failed call: the server's own sentence when it answered, else "could not reach", and a retry. */
export function Failure(props: { t: Translate; failure: CallFailure; onRetry?: () => void }) {
  return (
    <div role="alert">
      <p>{props.failure.message ?? props.t('unreachable')}</p>
      {props.onRetry ? (
        <button type="button" className="secondary" onClick={props.onRetry}>
          {props.t('retry')}
        </button>
      ) : null}
    </div>
  );
}
