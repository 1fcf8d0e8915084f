// Files imported `with { type: 'text' }` (SQL migrations) arrive as their text.
declare module '*.sql' {
  const text: string
  export default text
}
