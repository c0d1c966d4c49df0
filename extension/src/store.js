/**
 * What the extension keeps in `chrome.storage.local`: the install id, pending orders and licences. One storage key
 * per order and per licence, so that the checkout page and the service worker never overwrite each other's writes
 * with a stale copy of a shared list.
 * @module
 */

const INSTALL_ID = "installId";
const ORDER_PREFIX = "order:";
const LICENCE_PREFIX = "licence:";

/**
 * The subset of `chrome.storage.StorageArea` used here.
 * @typedef {object} StorageArea
 * @property {(keys?: string | string[] | null) => Promise<Record<string, any>>} get
 * @property {(items: Record<string, any>) => Promise<void>} set
 * @property {(keys: string | string[]) => Promise<void>} remove
 */

/**
 * An order being paid, as much as polling needs (the QR itself is not kept).
 * @typedef {object} PendingOrder
 * @property {string} order_id
 * @property {string} poll_token
 * @property {string} product_id
 * @property {string} description
 * @property {number} amount_fen
 * @property {string} currency
 * @property {number} expires_at the server's expiry (seconds, server clock)
 * @property {number} deadline the same instant on this browser's clock (ms)
 * @property {number} created_local when this browser created it (ms)
 */

/**
 * A licence on this install. `token` is the proof; the other fields are what the server said, for display.
 * @typedef {object} StoredLicence
 * @property {string} license_id
 * @property {string} license_key
 * @property {string} token
 * @property {string} [product_id]
 * @property {string} [title] the product's title, when known
 * @property {string} [order_id]
 * @property {"ACTIVE" | "REVOKED"} status
 * @property {null | "REVOKED" | "EXPIRED" | "NOT_ACTIVATED"} problem why the server last refused to refresh it
 * @property {number} updated_at ms
 */

export class Store {
  /** @param {StorageArea} area */
  constructor(area) {
    this.area = area;
  }

  /** @returns {Promise<string | undefined>} */
  async installId() {
    return (await this.area.get(INSTALL_ID))[INSTALL_ID];
  }

  /** @param {string} id */
  setInstallId(id) {
    return this.area.set({ [INSTALL_ID]: id });
  }

  /** @returns {Promise<PendingOrder[]>} oldest first */
  async pendingOrders() {
    const orders = await this.#withPrefix(ORDER_PREFIX);
    return orders.sort((a, b) => a.created_local - b.created_local);
  }

  /** @param {PendingOrder} order */
  putOrder(order) {
    return this.area.set({ [ORDER_PREFIX + order.order_id]: order });
  }

  /** @param {string} orderId */
  removeOrder(orderId) {
    return this.area.remove(ORDER_PREFIX + orderId);
  }

  /** @returns {Promise<StoredLicence[]>} */
  licences() {
    return this.#withPrefix(LICENCE_PREFIX);
  }

  /**
   * @param {string} licenceId
   * @returns {Promise<StoredLicence | undefined>}
   */
  async licence(licenceId) {
    return (await this.area.get(LICENCE_PREFIX + licenceId))[LICENCE_PREFIX + licenceId];
  }

  /** @param {StoredLicence} licence */
  putLicence(licence) {
    return this.area.set({ [LICENCE_PREFIX + licence.license_id]: licence });
  }

  /** @param {string} licenceId */
  removeLicence(licenceId) {
    return this.area.remove(LICENCE_PREFIX + licenceId);
  }

  /** @param {string} prefix */
  async #withPrefix(prefix) {
    const everything = await this.area.get(null);
    return Object.entries(everything)
      .filter(([key]) => key.startsWith(prefix))
      .map(([, value]) => value);
  }
}

/**
 * Whether a `chrome.storage.onChanged` change touches licences (pages re-render on it).
 * @param {Record<string, unknown>} changes
 */
export function touchesLicences(changes) {
  return Object.keys(changes).some((key) => key.startsWith(LICENCE_PREFIX));
}
