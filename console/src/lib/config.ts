/** Seconds between automatic refreshes of a page's data (until live updates arrive over WebSocket). */
export const REFRESH_SECONDS = 15

/** How to start an agent, shown when no asset has been observed yet. */
export const AGENT_COMMAND = 'cwic-agent run --config agent.yaml'
