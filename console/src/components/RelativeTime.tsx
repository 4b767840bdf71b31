import { formatDateTime, formatRelative } from '../lib/format.ts'

/** `<time>` showing "3 min ago", with the absolute time as tooltip. Pass `now` from useNow(). */
export function RelativeTime({ value, now }: { value: string; now: number }) {
  return (
    <time dateTime={value} title={formatDateTime(value)}>
      {formatRelative(value, now)}
    </time>
  )
}
