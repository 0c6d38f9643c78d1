export * from './result';
export * from './arithmetic';
export * from './program';
export * from './time';
export * from './valuation';
