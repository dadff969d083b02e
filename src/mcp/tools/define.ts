import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import type { TenantAddress } from '../../service/address.js';
import type { Operation } from '../../service/authorization.js';
import type { Services } from '../../service/services.js';
import type { InputSchemaOptions } from '../json-schema.js';

/** A tool: the contract schema of its arguments, the REST operation it is authorised as, and its use case. */
export interface ToolDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly title: string;
  /** Written for a model: what it does, when to use it, an example call. */
  readonly description: string;
  /** The same operation name as the REST route, checked with the same role matrix. */
  readonly operation: Operation;
  readonly schema: S;
  readonly advertise?: InputSchemaOptions;
  readonly annotations?: ToolAnnotations;
  /** The use case on the session's tenant; returns what the REST route would reply. */
  run(services: Services, address: TenantAddress, input: z.output<S>): Promise<unknown>;
}

/** Keeps each tool's input type while the registry holds them all as one type. */
export function defineTool<S extends z.ZodType>(tool: ToolDefinition<S>): ToolDefinition {
  return tool as unknown as ToolDefinition;
}

export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, openWorldHint: false };
export const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, openWorldHint: false };
export const DESTRUCTIVE: ToolAnnotations = { readOnlyHint: false, destructiveHint: true, openWorldHint: false };
