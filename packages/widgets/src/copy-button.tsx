import { useState } from 'react';
import type { Translate } from './i18n';

/** Copies a coupon code to the clipboard and says whether it worked (the code stays selectable either way). */
export function CopyButton(props: { text: string; t: Translate }) {
  const [outcome, setOutcome] = useState<'copied' | 'copyFailed' | null>(null);

  async function copy() {
    try {
      if (!navigator.clipboard) throw new Error('no clipboard');
      await navigator.clipboard.writeText(props.text);
      setOutcome('copied');
    } catch {
      // Clipboard access is refused outside secure contexts and in some frames: say so rather than pretend.
      setOutcome('copyFailed');
    }
  }

  return (
    <span className="row">
      <button type="button" className="secondary" onClick={() => void copy()}>
        {props.t('copyCode')}
      </button>
      <span role="status">{outcome ? props.t(outcome) : ''}</span>
    </span>
  );
}
