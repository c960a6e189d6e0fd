/**
 * The process warnings (`process.emitWarning`) a piece of code emits, captured instead of
 * printed, so that a test expecting a warning asserts it and a passing run prints none.
 */
export function capturingWarnings<T>(run: () => T): { result: T; warnings: string[] } {
  const warnings: string[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation((warning, options) => {
    const code =
      typeof options === 'object' && options !== null && 'code' in options ? options.code : '';
    warnings.push(`[${code ?? ''}] ${typeof warning === 'string' ? warning : warning.message}`);
  });
  try {
    return { result: run(), warnings };
  } finally {
    spy.mockRestore();
  }
}
