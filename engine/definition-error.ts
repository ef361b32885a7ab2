/** A definition that cannot work (unknown dependency, cycle, bad partitions or mapping): found when definitions load. */
export class DefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionError';
  }
}
