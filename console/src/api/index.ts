export * from './types.ts'
export * from './client.ts'
export * from './assets.ts'
export * from './session.ts'
