import { describe, expect, it } from 'vitest';
import { isPartial, mergeDeploy, metricRows, signatureRows, verdictLabel, type Deploy, type DeployCheck } from './deploys';

const deploy: Deploy = {
  id: '01a209e2-d35d-735b-9ada-214c3fa5498d',
  service: 'checkout',
  version: '2.0.0',
  environment: 'production',
  at: '2026-11-23T19:29:49.917396321Z',
  recorded_at: '2026-11-23T19:29:49.917396321Z',
};

// Trimmed from a real `GET /api/v1/deploys/{id}/check` of the demo.
const check: DeployCheck = {
  deploy,
  state: 'decided',
  verdict: 'regression',
  summary: 'Regression after deploy …',
  incident_id: '01a209e3-122e-750c-aa64-e9e17c2e8439',
  evidence: {
    log_signatures: {
      changes: [
        {
          count_after: 15,
          count_before: 0,
          example: 'payment 880006 failed: card-gateway timed out after 3000 ms',
          first_after: '2026-11-23T19:29:50.861758565Z',
          kind: 'new',
          summary: 'new after the deploy: …',
          template: 'payment <NUM> failed: card-gateway timed out after <NUM> ms',
        },
      ],
    },
    verdict: {
      partial: false,
      metrics: [
        {
          after_median: 1197.0,
          baseline: { median: 1198.5 },
          confidence: 1.0,
          detection: null,
          p_value: 0.119,
          relative_change: -0.00125,
          series: 'checkout/request_rate',
          verdict: 'no_regression',
        },
        {
          after_median: 0.05904,
          baseline: { median: 0.00992 },
          confidence: 0.9999996,
          detection: { change_at: '2026-11-23T19:29:50.861758565Z' },
          p_value: 3.9e-7,
          relative_change: 4.9516,
          series: 'checkout/error_rate',
          verdict: 'regression',
        },
      ],
    },
  },
};

describe('metricRows', () => {
  it('reads the per-metric verdicts, regressions first', () => {
    const rows = metricRows(check);
    expect(rows.map((r) => r.series)).toEqual(['checkout/error_rate', 'checkout/request_rate']);
    expect(rows[0]).toMatchObject({ verdict: 'regression', baselineMedian: 0.00992, afterMedian: 0.05904, change: 4.9516, p: 3.9e-7 });
    expect(rows[0]!.changeAt).toBeCloseTo(1_795_462_190.8617, 3);
    expect(rows[1]!.changeAt).toBeNull();
  });

  it('gives nothing for a check without evidence', () => {
    expect(metricRows({ evidence: undefined })).toEqual([]);
    expect(metricRows({ evidence: { verdict: { metrics: 'x' } } })).toEqual([]);
  });
});

describe('signatureRows', () => {
  it('reads the new log signatures', () => {
    expect(signatureRows(check)).toEqual([
      expect.objectContaining({ kind: 'new', template: 'payment <NUM> failed: card-gateway timed out after <NUM> ms', countAfter: 15, countBefore: 0 }),
    ]);
  });
});

describe('deploy helpers', () => {
  it('word verdicts and tell partial ones', () => {
    expect(verdictLabel('no_regression')).toBe('no regression');
    expect(verdictLabel(undefined)).toBe('no verdict');
    expect(isPartial(check)).toBe(false);
    expect(isPartial({ ...check, state: 'watching' })).toBe(true);
  });

  it('merge a new deploy in newest-first order', () => {
    const older = { ...deploy, id: 'a', at: '2026-11-23T18:00:00Z' };
    const newer = { ...deploy, id: 'b', at: '2026-11-23T20:00:00Z' };
    expect(mergeDeploy([deploy, older], newer).map((d) => d.id)).toEqual(['b', deploy.id, 'a']);
    expect(mergeDeploy([newer, deploy, older], { ...deploy, version: '2.0.1' }).map((d) => d.version)).toEqual(['2.0.0', '2.0.1', '2.0.0']);
  });
});
