import { Presets, SingleBar } from 'cli-progress';

/** A progress bar on stderr for long commands; silent when stderr is not a terminal (pipes, CI logs). */
export interface Progress {
  update(value: number, detail?: string): void;
  setTotal(total: number): void;
  stop(): void;
}

const silent: Progress = { update: () => undefined, setTotal: () => undefined, stop: () => undefined };

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return silent;
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {detail}`, stream, hideCursor: true, clearOnComplete: false },
    Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    update: (value, detail = '') => bar.update(value, { detail }),
    setTotal: (newTotal) => bar.setTotal(newTotal),
    stop: () => bar.stop(),
  };
}
