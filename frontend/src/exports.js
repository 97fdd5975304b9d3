// Export links: files the server streams (CSV, GeoJSON, KML, GPX, N42).
// Plain same-origin links, so the browser downloads with the session
// cookie and never holds the file in page memory.
import { query } from './api.js';

export const TRACK_FORMATS = [['csv', 'CSV'], ['geojson', 'GeoJSON'], ['kml', 'KML'], ['gpx', 'GPX']];
export const ALARM_FORMATS = [['csv', 'CSV'], ['geojson', 'GeoJSON']];

// exportURL is the API URL of path with params and format.
export function exportURL(path, params, format) {
  return '/api/v1' + path + query({ ...params, format });
}
