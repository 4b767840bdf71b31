// Hand-written SVG sparkline (no chart library): line + soft area, last point marked, hover readout.

import { useId, useLayoutEffect, useRef, useState, type PointerEvent } from 'react'
import './Sparkline.css'

export interface SparkPoint {
  /** ms since epoch */
  time: number
  value: number
}

interface SparklineProps {
  /** Oldest first. */
  points: SparkPoint[]
  height?: number
  /** Accessible description of the whole series. */
  label: string
  formatValue: (value: number) => string
  formatTime: (time: number) => string
  /** Called with the hovered point (or null); when given, the caller shows the readout instead of a tooltip. */
  onHoverChange?: (point: SparkPoint | null) => void
}

const PAD_X = 5
const PAD_Y = 7

function useWidth<T extends HTMLElement>(fallback: number) {
  const ref = useRef<T>(null)
  const [width, setWidth] = useState(fallback)
  useLayoutEffect(() => {
    const element = ref.current
    if (!element) return
    const measure = () => setWidth(Math.max(40, Math.floor(element.getBoundingClientRect().width)))
    measure()
    const observer = new ResizeObserver(measure)
    observer.observe(element)
    return () => observer.disconnect()
  }, [])
  return [ref, width] as const
}

export function Sparkline({ points, height = 56, label, formatValue, formatTime, onHoverChange }: SparklineProps) {
  const [containerRef, width] = useWidth<HTMLDivElement>(280)
  const [hover, setHoverIndex] = useState<number | null>(null)
  const setHover = (index: number | null) => {
    setHoverIndex(index)
    onHoverChange?.(index === null ? null : (points[index] ?? null))
  }
  const gradientId = useId()

  const count = points.length
  const values = points.map((point) => point.value)
  const min = Math.min(...values)
  const max = Math.max(...values)
  const firstTime = points[0]?.time ?? 0
  const lastTime = points[count - 1]?.time ?? 0
  const timeSpan = lastTime - firstTime

  const xOf = (index: number) => {
    if (count <= 1) return width / 2
    const point = points[index]
    const fraction = timeSpan > 0 && point ? (point.time - firstTime) / timeSpan : index / (count - 1)
    return PAD_X + fraction * (width - 2 * PAD_X)
  }
  const yOf = (value: number) => {
    if (max === min) return height / 2
    return PAD_Y + (1 - (value - min) / (max - min)) * (height - 2 * PAD_Y)
  }

  const coords = points.map((point, index) => [xOf(index), yOf(point.value)] as const)
  const line = coords.map(([x, y], index) => `${index === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ')
  const first = coords[0]
  const last = coords[count - 1]
  const area =
    first && last && count > 1 ? `${line} L${last[0].toFixed(1)},${height} L${first[0].toFixed(1)},${height} Z` : ''

  const onPointerMove = (event: PointerEvent<SVGSVGElement>) => {
    if (count === 0) return
    const x = event.clientX - event.currentTarget.getBoundingClientRect().left
    let nearest = 0
    for (let index = 1; index < count; index++) {
      if (Math.abs(xOf(index) - x) < Math.abs(xOf(nearest) - x)) nearest = index
    }
    if (nearest !== hover) setHover(nearest)
  }

  const hovered = hover !== null ? points[hover] : undefined
  const hoveredCoord = hover !== null ? coords[hover] : undefined

  return (
    <div className="sparkline" ref={containerRef}>
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={label}
        onPointerMove={onPointerMove}
        onPointerLeave={() => setHover(null)}
      >
        <defs>
          <linearGradient id={gradientId} x1="0" y1="0" x2="0" y2="1">
            <stop offset="0%" stopColor="currentColor" stopOpacity="0.18" />
            <stop offset="100%" stopColor="currentColor" stopOpacity="0" />
          </linearGradient>
        </defs>
        <line className="sparkline-baseline" x1={0} x2={width} y1={height - 0.5} y2={height - 0.5} />
        {area && <path d={area} fill={`url(#${gradientId})`} stroke="none" />}
        {count > 1 && <path className="sparkline-line" d={line} />}
        {hoveredCoord && (
          <line className="sparkline-cursor" x1={hoveredCoord[0]} x2={hoveredCoord[0]} y1={0} y2={height} />
        )}
        {last && <circle className="sparkline-last" cx={last[0]} cy={last[1]} r={2.75} />}
        {hoveredCoord && <circle className="sparkline-hover" cx={hoveredCoord[0]} cy={hoveredCoord[1]} r={3.5} />}
      </svg>
      {hovered && hoveredCoord && !onHoverChange && (
        <div
          className="sparkline-tooltip"
          style={{ left: Math.min(Math.max(hoveredCoord[0], 60), width - 60) }}
          aria-hidden="true"
        >
          <strong>{formatValue(hovered.value)}</strong>
          <span>{formatTime(hovered.time)}</span>
        </div>
      )}
    </div>
  )
}
