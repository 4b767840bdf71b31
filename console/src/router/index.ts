export * from './navigation.ts'
export * from './components.tsx'
