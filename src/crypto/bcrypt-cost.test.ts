import { expect, test } from 'bun:test'
import { bcryptCost } from './bcrypt-cost.ts'

test.each([
  ['$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234', 12],
  ['$2a$04$x', 4],
  ['$2y$31$x', 31],
  ['$argon2id$v=19$m=19456,t=2,p=1$x', null],
  ['$2b$1$x', null],
  ['', null],
  ['plain text $2b$15$', null],
])('bcryptCost(%p) is %p', (hash, cost) => {
  expect(bcryptCost(hash)).toBe(cost)
})
