/** Types of scripts/docs.js, for the test that checks docs/configuration.md against the settings table. */
export declare const START: string;
export declare const END: string;
export declare function renderSettings(settings: object): string;
export declare function updateReadme(readme: string, settings: object): string;
