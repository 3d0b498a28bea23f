/** The tool's name and version, recorded in every statement (`predicate.tool`). Kept equal to package.json by a test. */
export const TOOL_NAME = 'snap';
export const TOOL_VERSION = '0.1.0';
