#!/usr/bin/env node
// The compiled CLI (npm run build); it runs on import.
import '../dist/cli/main.js';
