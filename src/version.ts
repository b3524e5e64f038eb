/** The product version, shown by `mq --version` and `/health`. */
export const mqVersion = "0.1.0";
