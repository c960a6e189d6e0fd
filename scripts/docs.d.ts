/** Types of scripts/docs.js, for the tests that check the documentation against the generated tables. */
export declare const START: string;
export declare const END: string;
export declare function renderSettings(settings: object): string;
export declare function updateReadme(readme: string, settings: object): string;
export declare const OPTIONS_START: string;
export declare const OPTIONS_END: string;
export declare function renderOptions(options: object): string;
export declare function updateOptions(page: string, options: object): string;
