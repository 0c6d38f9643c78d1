import { type KeyboardEvent, useEffect, useId, useState } from 'react';
import { type RedemptionQuote, formatPointUnits, splitFor } from '@jifen/rules';
import { type Display, parsePoints } from './i18n';

/**
 * The points control of the checkout (SPEC §6: "an accessible slider with a number input"): a range
 * input and a number input showing one choice, bounded by the quote's min, max and step. The slider
 * speaks its value in money (aria-valuetext); keys follow the ARIA slider pattern and are handled
 * here, so every browser steps by the quote's step the same way.
 */

export interface PointsPickerProps {
  quote: RedemptionQuote;
  points: number;
  display: Display;
  isDisabled?: boolean;
  /** A valid choice (within the range, on the step). */
  onChange: (points: number) => void;
  /** Whether the number input holds a valid choice; the checkout does not reserve an invalid one. */
  onValidityChange: (isValid: boolean) => void;
}

/** How many steps PageUp/PageDown move: a tenth of the range, at least one step. */
function pageSteps(quote: RedemptionQuote): number {
  return Math.max(1, Math.round((quote.maxPoints - quote.minPoints) / quote.step / 10));
}

/** The nearest valid choice to `points`: within [min, max] and on the step. */
export function snapToQuote(quote: RedemptionQuote, points: number): number {
  const bounded = Math.min(Math.max(points, quote.minPoints), quote.maxPoints);
  return Math.min(quote.maxPoints, Math.max(quote.minPoints, Math.round(bounded / quote.step) * quote.step));
}

export function isValidChoice(quote: RedemptionQuote, points: number): boolean {
  return points >= quote.minPoints && points <= quote.maxPoints && points % quote.step === 0;
}

export function PointsPicker({ quote, points, display, isDisabled = false, onChange, onValidityChange }: PointsPickerProps) {
  const { t, pointDecimals } = display;
  const rangeId = useId();
  const numberId = useId();
  const hintId = useId();
  const errorId = useId();
  const [text, setText] = useState(() => formatPointUnits(points, pointDecimals));
  const [isInvalid, setInvalid] = useState(false);

  // A choice made elsewhere (the slider, a new quote) shows in the number input, unless the input already says it.
  useEffect(() => {
    if (parsePoints(text, pointDecimals) !== points) {
      setText(formatPointUnits(points, pointDecimals));
      setInvalid(false);
      onValidityChange(true);
    }
    // Only a new `points` re-syncs the text (not `text`): typing must not be overwritten mid-edit.
  }, [points, pointDecimals]);

  const split = splitFor(quote, points);
  const value = split.ok ? split.value.value : 0;
  const range = {
    min: display.pointsNumber(quote.minPoints),
    max: display.pointsNumber(quote.maxPoints),
    step: display.pointsNumber(quote.step),
  };

  function choose(next: number) {
    const snapped = snapToQuote(quote, next);
    if (snapped !== points) onChange(snapped);
  }

  function onSliderKey(event: KeyboardEvent<HTMLInputElement>) {
    const page = pageSteps(quote) * quote.step;
    const moves: Record<string, number> = {
      ArrowRight: points + quote.step,
      ArrowUp: points + quote.step,
      ArrowLeft: points - quote.step,
      ArrowDown: points - quote.step,
      PageUp: points + page,
      PageDown: points - page,
      Home: quote.minPoints,
      End: quote.maxPoints,
    };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    choose(next);
  }

  function onType(raw: string) {
    setText(raw);
    const parsed = parsePoints(raw, pointDecimals);
    const isValid = parsed !== null && isValidChoice(quote, parsed);
    setInvalid(!isValid);
    onValidityChange(isValid);
    if (isValid && parsed !== points) onChange(parsed);
  }

  return (
    <div className="picker">
      <label htmlFor={rangeId}>{t('pointsToUse')}</label>
      <input
        id={rangeId}
        type="range"
        min={quote.minPoints}
        max={quote.maxPoints}
        step={quote.step}
        value={points}
        disabled={isDisabled}
        aria-valuetext={t('sliderValue', { points: display.points(points), money: display.money(value) })}
        aria-describedby={hintId}
        onKeyDown={onSliderKey}
        onChange={(event) => choose(Number(event.currentTarget.value))}
      />
      <div className="row">
        <label htmlFor={numberId}>{t('exactPoints')}</label>
        <input
          id={numberId}
          type="number"
          inputMode={pointDecimals > 0 ? 'decimal' : 'numeric'}
          min={formatPointUnits(quote.minPoints, pointDecimals)}
          max={formatPointUnits(quote.maxPoints, pointDecimals)}
          step={formatPointUnits(quote.step, pointDecimals)}
          value={text}
          disabled={isDisabled}
          aria-invalid={isInvalid}
          aria-describedby={isInvalid ? `${errorId} ${hintId}` : hintId}
          onChange={(event) => onType(event.currentTarget.value)}
        />
      </div>
      <p id={hintId} className="muted">
        {t('rangeHint', range)}
      </p>
      {isInvalid ? (
        <p id={errorId} className="error">
          {t('invalidPoints', range)}
        </p>
      ) : null}
    </div>
  );
}
