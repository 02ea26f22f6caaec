// wasi:config@0.2.0-draft-2024-09-27 for the connector: key `partner_api_key` is the
// environment variable LEVER_CONNECTOR_PARTNER_API_KEY, the names `lever-host` reads. Read at
// every call, so a platform can change a setting without reloading the component.

const PREFIX = 'LEVER_CONNECTOR_';

export const store = {
  get(key) {
    const value = process.env[PREFIX + key.toUpperCase()];
    return value === undefined ? undefined : value;
  },
  getAll() {
    return Object.entries(process.env)
      .filter(([name]) => name.startsWith(PREFIX) && name.length > PREFIX.length)
      .map(([name, value]) => [name.slice(PREFIX.length).toLowerCase(), value]);
  },
};
