/** The admin page's shapes, all taken from the generated API types. */
import type { Body, Ok, Result } from '../api/client';

export type PromptList = Result<'/admin/prompts', 'get'>;
export type PromptEntry = PromptList['assistants'][number]['prompts'][number];
export type Prompt = Result<'/admin/prompts/{assistant}/{name}', 'get'>;
export type PromptPut = Body<'/admin/prompts/{assistant}/{name}', 'put'>;
export type PromptSaved = Result<'/admin/prompts/{assistant}/{name}', 'put'>;
export type PromptVersions = Result<'/admin/prompts/{assistant}/{name}/versions', 'get'>;
export type PromptVersion = PromptVersions['versions'][number];
export type PromptRollback = Body<'/admin/prompts/{assistant}/{name}/rollback', 'post'>;
export type PromptReload = Result<'/admin/prompts/reload', 'post'>;

export type ProjectList = Result<'/projects', 'get'>;
export type Project = Result<'/projects/{project_id}', 'get'>;
export type ProjectCreate = Body<'/projects', 'post'>;
export type ProjectUpdate = Body<'/projects/{project_id}', 'put'>;
export type ProjectStatus = NonNullable<ProjectCreate['status']>;
export type ProjectDeleted = Result<'/projects/{project_id}', 'delete'>;

export type CardList = Result<'/projects/{project_id}/prompt-cards', 'get'>;
export type CardSummary = CardList['prompt_cards'][number];
export type Card = Result<'/projects/{project_id}/prompt-cards/{prompt_id}', 'get'>;
export type CardCreate = Body<'/projects/{project_id}/prompt-cards', 'post'>;
export type CardUpdate = Body<'/projects/{project_id}/prompt-cards/{prompt_id}', 'put'>;

export type ChatRequest = Body<'/projects/{project_id}/chat', 'post'>;
export type ChatAnswer = Ok<'/projects/{project_id}/chat', 'post'>;
export type ChatResult = Result<'/projects/{project_id}/chat', 'post'>;
export type ChatHistory = Result<'/projects/{project_id}/chat/{session_id}', 'get'>;
