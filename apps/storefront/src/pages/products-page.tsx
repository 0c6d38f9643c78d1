import { useState } from 'react';
import { addToCart } from '../cart';
import { formatMoney } from '../messages';
import { PRODUCTS } from '../products';
import { useShop } from '../shop';

export function ProductsPage() {
  const { t, locale } = useShop();
  const [added, setAdded] = useState<string | null>(null);
  return (
    <>
      <h1 tabIndex={-1}>{t('productsTitle')}</h1>
      <p>{t('productsIntro')}</p>
      <ul className="products">
        {PRODUCTS.map((product) => (
          <li key={product.sku} className="product">
            <span className="symbol" aria-hidden="true">
              {product.symbol}
            </span>
            <h2>{product.name[locale]}</h2>
            <p className="muted">{product.description[locale]}</p>
            <p className="price">{formatMoney(product.priceMinor, locale)}</p>
            <button
              type="button"
              aria-label={t('addToCartLabel', { name: product.name[locale] })}
              onClick={() => {
                addToCart(product.sku);
                setAdded(product.name[locale]);
              }}
            >
              {t('addToCart')}
            </button>
          </li>
        ))}
      </ul>
      <p role="status" className="toast">
        {added ? (
          <>
            {t('added', { name: added })} <a href="/cart">{t('toCheckout')}</a>
          </>
        ) : null}
      </p>
    </>
  );
}
