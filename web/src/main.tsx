import '@mantine/core/styles.css';
import './studio.css';
import { MantineProvider, createTheme } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { createApi } from './api/client';
import { App } from './App';
import { Auth } from './auth';
import { loadStudioConfig } from './config';
import { StudioContext } from './studio';

// Colours chosen for contrast (WCAG AA on white for text and buttons).
const theme = createTheme({ primaryColor: 'indigo', primaryShade: 8, fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif' });

const root = createRoot(document.getElementById('root') as HTMLElement);

loadStudioConfig()
  .then((config) => {
    const auth = new Auth(config);
    const clients = createApi(config, auth);
    root.render(
      <StrictMode>
        <MantineProvider theme={theme}>
          <StudioContext.Provider value={{ config, auth, clients }}>
            <BrowserRouter>
              <App />
            </BrowserRouter>
          </StudioContext.Provider>
        </MantineProvider>
      </StrictMode>,
    );
  })
  .catch((err: unknown) => {
    root.render(
      <main style={{ padding: 24, fontFamily: 'system-ui' }}>
        <h1>Story42 Studio cannot start</h1>
        <p role="alert">{err instanceof Error ? err.message : String(err)}</p>
      </main>,
    );
  });
