// The audit log screen's state and its calls to the core: search (a page at a
// time, newest first), export, and the event whose details are open.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { AuditEventSummary, AuditExportResult, AuditFilter, CallOutput } from '../../../../shared/api.js';
import { call, type ErrorInfo } from '../../enclave.js';
import { dateInputValue } from '../audit-format.js';
import { EMPTY_FORM, toFilter, type FormState } from './filter.js';

export const PAGE_SIZE = 100;

type SearchResult = CallOutput<'audit.search'>;

export function useAuditSearch(onSessionError: (() => void) | undefined) {
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [formError, setFormError] = useState<ErrorInfo | null>(null);
  const [applied, setApplied] = useState<AuditFilter | null>(null);
  const [results, setResults] = useState<SearchResult | null>(null);
  const [searching, setSearching] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [searchError, setSearchError] = useState<ErrorInfo | null>(null);
  const [selected, setSelected] = useState<AuditEventSummary | null>(null);
  const [exported, setExported] = useState<{ result: AuditExportResult; filter: AuditFilter } | null>(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<ErrorInfo | null>(null);
  const request = useRef(0);
  const rowButtons = useRef(new Map<number, HTMLButtonElement>());

  const sessionGone = useCallback(
    (error: ErrorInfo) => {
      if (error.code === 'locked' || error.code === 'not_signed_in') onSessionError?.();
    },
    [onSessionError],
  );

  const search = useCallback(
    async (filter: AuditFilter) => {
      const mine = ++request.current;
      setSearching(true);
      setLoadingMore(false);
      setSearchError(null);
      const result = await call('audit.search', { ...filter, limit: PAGE_SIZE });
      if (mine !== request.current) return;
      setSearching(false);
      if (result.ok) {
        setApplied(filter);
        setResults(result.output);
        setSelected(null);
      } else {
        setSearchError(result.error);
        sessionGone(result.error);
      }
    },
    [sessionGone],
  );

  useEffect(() => {
    void search({});
  }, [search]);

  async function loadOlder() {
    if (!applied || !results || results.nextBeforeSequence === null) return;
    const mine = ++request.current;
    setLoadingMore(true);
    setSearchError(null);
    const result = await call('audit.search', { ...applied, limit: PAGE_SIZE, beforeSequence: results.nextBeforeSequence });
    if (mine !== request.current) return;
    setLoadingMore(false);
    if (result.ok) setResults({ ...result.output, events: [...results.events, ...result.output.events] });
    else {
      setSearchError(result.error);
      sessionGone(result.error);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    const parsed = toFilter(form);
    if ('error' in parsed) {
      setFormError({ code: 'invalid_input', message: parsed.error });
      return;
    }
    setFormError(null);
    void search(parsed.filter);
  }

  function clear() {
    setForm(EMPTY_FORM);
    setFormError(null);
    void search({});
  }

  function lastDays(days: number) {
    const today = new Date();
    const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - days);
    setForm((f) => ({ ...f, from: dateInputValue(start), to: dateInputValue(today) }));
  }

  async function runExport() {
    const filter = applied ?? {};
    setExporting(true);
    setExportError(null);
    const result = await call('audit.export', filter);
    setExporting(false);
    if (result.ok) {
      setExported({ result: result.output, filter });
      // Exporting sealed what was waiting: show the rows with their batches.
      void search(filter);
    } else {
      setExportError(result.error);
      sessionGone(result.error);
    }
  }

  const closeDetail = useCallback(() => {
    const sequence = selected?.sequence;
    setSelected(null);
    // Back to the row the details came from, for keyboard users.
    if (sequence !== undefined) window.setTimeout(() => rowButtons.current.get(sequence)?.focus(), 0);
  }, [selected]);

  useEffect(() => {
    if (!selected) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') closeDetail();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, closeDetail]);

  return {
    form,
    setForm,
    formError,
    applied,
    results,
    searching,
    loadingMore,
    searchError,
    selected,
    setSelected,
    exported,
    setExported,
    exporting,
    exportError,
    rowButtons,
    loadOlder,
    onSubmit,
    clear,
    lastDays,
    runExport,
    closeDetail,
  };
}
