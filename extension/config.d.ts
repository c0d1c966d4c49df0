// The shape of config.js, which build.mjs writes into dist/ for one environment (types only: not shipped).
export declare const CONFIG: Readonly<{
  env: string;
  apiBase: string;
  publicKeys: Readonly<Record<string, string>>;
}>;
