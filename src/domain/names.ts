/**
 * The forms of the names clients choose, stated once: routes, configuration, ingest and services
 * check against these.
 */

/** A model's name: lowercase letters, digits and underscores, 1 to 40 (never the form of an id, a UUID). */
export const MODEL_NAME = /^[a-z0-9_]{1,40}$/;
export const MODEL_NAME_SHAPE = '[a-z0-9_]{1,40}';

/** A target's name (the era's main target, MAIN_TARGET, a target upload's column, a filter). */
export const TARGET_NAME = /^[A-Za-z0-9_]{1,64}$/;
export const TARGET_NAME_SHAPE = '1–64 characters of A–Z a–z 0–9 _';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** A model named in a path: its id or its name. */
export const MODEL_REF = new RegExp(`^(${UUID}|${MODEL_NAME.source.slice(1, -1)})$`);
