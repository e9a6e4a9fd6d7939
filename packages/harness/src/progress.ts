/** Where long scenarios report progress (stderr in the CLI, nothing in tests). */
export type Progress = (line: string) => void

export const stderrProgress: Progress = (line) => process.stderr.write(line + '\n')
export const noProgress: Progress = () => {}
