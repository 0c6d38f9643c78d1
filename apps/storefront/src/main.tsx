import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { installLinkNavigation } from './router';
import { ShopProvider } from './shop';
import './styles.css';

installLinkNavigation();
document.documentElement.lang = localStorage.getItem('jifen-demo-locale') === 'en' ? 'en' : 'zh-CN';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ShopProvider>
      <App />
    </ShopProvider>
  </StrictMode>,
);
