import { setQuantity, useCart } from '../cart';
import { formatMoney } from '../messages';
import { useShop } from '../shop';

export function CartPage() {
  const { t, locale } = useShop();
  const cart = useCart();
  return (
    <>
      <h1 tabIndex={-1}>{t('cartTitle')}</h1>
      {cart.lines.length === 0 ? (
        <p>
          {t('cartEmpty')} <a href="/">{t('browseProducts')}</a>
        </p>
      ) : (
        <>
          <table className="lines">
            <thead>
              <tr>
                <th scope="col">{t('product')}</th>
                <th scope="col">{t('quantity')}</th>
                <th scope="col" className="number">
                  {t('lineTotal')}
                </th>
                <td />
              </tr>
            </thead>
            <tbody>
              {cart.lines.map((line) => {
                const name = line.product.name[locale];
                return (
                  <tr key={line.product.sku}>
                    <th scope="row">{name}</th>
                    <td>
                      <input
                        type="number"
                        min={1}
                        max={99}
                        value={line.quantity}
                        aria-label={t('quantityOf', { name })}
                        onChange={(event) => {
                          const quantity = Number(event.target.value);
                          if (Number.isInteger(quantity) && quantity >= 1) setQuantity(line.product.sku, quantity);
                        }}
                      />
                    </td>
                    <td className="number">{formatMoney(line.amountMinor, locale)}</td>
                    <td>
                      <button type="button" className="secondary" aria-label={t('removeLabel', { name })} onClick={() => setQuantity(line.product.sku, 0)}>
                        {t('remove')}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colSpan={2}>
                  {t('total')}
                </th>
                <td className="number">{formatMoney(cart.amountMinor, locale)}</td>
                <td />
              </tr>
            </tfoot>
          </table>
          <p>
            <a className="button" href="/checkout">
              {t('toCheckout')}
            </a>
          </p>
        </>
      )}
    </>
  );
}
