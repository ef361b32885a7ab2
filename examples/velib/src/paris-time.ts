/** The Europe/Paris wall-clock hour of an instant, as `YYYY-MM-DDTHH`. */
const format = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  hourCycle: 'h23',
});

export const parisHour = (instant: Date): string => format.format(instant).slice(0, 13).replace(' ', 'T');
