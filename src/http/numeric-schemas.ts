/**
 * Elysia's `t.Numeric` and `t.Integer` (a digit string or a number, turned into a number) and
 * `t.BooleanString` ('true'/'false' or a boolean, turned into a boolean), the same schemas with the
 * same checks and the same ValidationError, except that the check behind each is compiled at its
 * first use instead of when the schema is made. Elysia compiles it (TypeBox code generation and
 * `new Function`) as each schema is built, so the 27 schemas in route modules cost every start their
 * compilation whether or not any request ever carries such a field.
 * Threat: none added; what is accepted and refused is Elysia's own (numeric-schemas.test.ts compares).
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { Type, type IntegerOptions, type NumberOptions, type SchemaOptions, type TBoolean, type TInteger, type TNumber, type TSchema } from '@sinclair/typebox'
import { ValidationError } from 'elysia'

/** The compiled check of `schema`, made at the first call. */
function checkOnFirstUse<T extends TSchema>(schema: T): () => TypeCheck<T> {
  let compiled: TypeCheck<T> | null = null
  return () => (compiled ??= TypeCompiler.Compile(schema))
}

/** The error Elysia's own check throws: its ValidationError with TypeBox's errors for the value. */
function refusal<T extends TSchema>(schema: T, value: unknown, check: () => TypeCheck<T>): ValidationError {
  // note: the arguments elysia/dist/type-system/utils.mjs passes (its d.ts calls the fourth one a boolean).
  return new ValidationError('property', schema, value, check().Errors(value) as unknown as boolean)
}

/** As Elysia's `t.Numeric(property)`: a number, or a string holding one, with `property`'s bounds. */
export function Numeric(property?: NumberOptions): TNumber {
  const schema: TNumber = Type.Number(property)
  const check = checkOnFirstUse(schema)
  return Type.Transform(Type.Union([Type.String({ format: 'numeric', default: 0 }), Type.Number(property)], property))
    .Decode((value) => {
      const number = +value
      if (isNaN(number)) return value as unknown as number
      if (property && !check().Check(number)) throw refusal(schema, number, check)
      return number
    })
    .Encode((value) => value) as unknown as TNumber
}

/** As Elysia's `t.Integer(property)`: an integer, or a string holding one, with `property`'s bounds. */
export function Integer(property?: IntegerOptions): TInteger {
  const schema: TInteger = Type.Integer(property)
  const check = checkOnFirstUse(schema)
  return Type.Transform(Type.Union([Type.String({ format: 'integer', default: 0 }), Type.Integer(property)], property))
    .Decode((value) => {
      const number = +value
      if (!check().Check(number)) throw refusal(schema, number, check)
      return number
    })
    .Encode((value) => value) as unknown as TInteger
}

/** As Elysia's `t.BooleanString(property)`: a boolean, or a string ('true' is true, any other false). */
export function BooleanString(property?: SchemaOptions): TBoolean {
  const schema: TBoolean = Type.Boolean(property)
  const check = checkOnFirstUse(schema)
  return Type.Transform(Type.Union([Type.Boolean(property), Type.String({ format: 'boolean', default: false })], property))
    .Decode((value) => {
      if (typeof value === 'string') return value === 'true'
      if (value !== undefined && !check().Check(value)) throw refusal(schema, value, check)
      return value
    })
    .Encode((value) => value) as unknown as TBoolean
}
