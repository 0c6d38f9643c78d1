/**
 * A small line of the pool's price over its recent changes (SPEC §3.2 "Disclosure": pool widgets
 * show the price history). The numbers only place points on a drawing, so floats are fine here; the
 * figures a shopper reads are in the label, formatted from the exact decimal strings.
 */
export function Sparkline(props: { values: number[]; label: string }) {
  const width = 100;
  const height = 24;
  const low = Math.min(...props.values);
  const high = Math.max(...props.values);
  const span = high - low || 1;
  const stepX = props.values.length > 1 ? width / (props.values.length - 1) : 0;
  const points = props.values
    .map((value, index) => `${(index * stepX).toFixed(2)},${(height - 2 - ((value - low) / span) * (height - 4)).toFixed(2)}`)
    .join(' ');
  return (
    <svg className="sparkline" role="img" aria-label={props.label} viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none">
      <polyline points={points} fill="none" stroke="currentColor" strokeWidth="1.5" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}
